"""``python -m kfp_profiles``: the ``kfp-profiles`` command line."""

from kfp_profiles.cli import main

if __name__ == "__main__":
    main()
