from icaf_sem.cli import main

if __name__ == "__main__":   # not when a worker process (e.g. Dask's spawn) re-imports the main module
    raise SystemExit(main())
