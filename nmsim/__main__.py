from nmsim.cli import main

raise SystemExit(main())
