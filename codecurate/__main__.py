from codecurate.cli import main

raise SystemExit(main())
