from icaf_sem.cli import main
raise SystemExit(main())
