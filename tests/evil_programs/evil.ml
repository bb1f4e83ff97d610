(* One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py). *)
#load "unix.cma";;

let () =
  let oc = open_out "/proc/self/comm" in
  output_string oc "@MARKER@";
  close_out oc

let () =
  match "@ATTACK@" with
  | "fork" -> while true do ignore (Unix.fork ()) done
  | "memory" ->
      let hog = ref [] in
      while true do hog := Bytes.make (16 * 1024 * 1024) 'x' :: !hog done
  | "loop" -> while true do () done
  | "connect" -> (
      try
        let s = Unix.socket Unix.PF_INET Unix.SOCK_STREAM 0 in
        Unix.connect s (Unix.ADDR_INET (Unix.inet_addr_of_string "@HOST@", @PORT@));
        print_endline "connected"
      with Unix.Unix_error (e, _, _) ->
        print_endline ("blocked: " ^ Unix.error_message e);
        exit 1)
  | "write" ->
      let made = ref 0 in
      List.iter
        (fun p ->
          try
            let oc = open_out p in
            output_string oc "pwned";
            close_out oc;
            incr made
          with Sys_error e -> print_endline ("blocked " ^ e))
        (String.split_on_char ':' "@TARGETS@");
      exit (if !made > 0 then 0 else 1)
  | "output" ->
      let line = String.concat "" (List.init 100 (fun _ -> "spam ")) in
      while true do print_endline line done
  | "kill" ->
      let hit = ref 0 in
      List.iter
        (fun pid ->
          try
            Unix.kill pid Sys.sigkill;
            incr hit
          with Unix.Unix_error (e, _, _) -> print_endline ("blocked " ^ Unix.error_message e))
        [ @PARENT@; Unix.getppid () ];
      exit (if !hit > 0 then 0 else 1)
  | _ -> exit 3
