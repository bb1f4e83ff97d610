#lang racket
;; One hostile program per attack, chosen by @ATTACK@; exits 0 only if the attack worked (see evil.py).
;; Racket has no fork: its fork bomb goes through the shell.
(with-output-to-file "/proc/self/comm" (lambda () (display "@MARKER@")) #:exists 'append)
(define (count-ok items try)
  (for/sum ([x items]) (if (try x) 1 (begin (printf "blocked ~a\n" x) 0))))
(match "@ATTACK@"
  ["fork" (let loop () (system "racket main.rkt & racket main.rkt &") (loop))]
  ["memory" (let loop ([hog '()]) (loop (cons (make-bytes (* 16 1024 1024) 1) hog)))]
  ["loop" (let loop () (loop))]
  ["connect"
   (with-handlers ([exn:fail? (lambda (e) (printf "blocked: ~a\n" (exn-message e)) (exit 1))])
     (tcp-connect "@HOST@" @PORT@)
     (displayln "connected"))]
  ["write"
   (let ([made (count-ok (string-split "@TARGETS@" ":")
                         (lambda (p)
                           (with-handlers ([exn:fail? (lambda (e) #f)])
                             (with-output-to-file p (lambda () (display "pwned")))
                             #t)))])
     (exit (if (> made 0) 0 1)))]
  ["output" (let ([line (string-append* (make-list 100 "spam "))]) (let loop () (displayln line) (loop)))]
  ["kill"
   (let* ([ppid (string->number (list-ref (string-split (file->string "/proc/self/stat")) 3))]
          [hit (count-ok (list @PARENT@ ppid) (lambda (pid) (system (format "kill -9 ~a" pid))))])
     (exit (if (> hit 0) 0 1)))])
(exit 3)
