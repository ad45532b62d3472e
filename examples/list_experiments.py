"""List the experiments of whichever cluster KFP_PROFILE (or the file's default) names.

KFP_PROFILE=dev python examples/list_experiments.py
python examples/list_experiments.py prod
"""

from __future__ import annotations

import sys

from kfp_profiles import KfpProfilesError, get_client, resolve


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        resolved = resolve(name)
        print(f"profile {resolved.name} ({resolved.kind}) at {resolved.host}")
        client = get_client(name)
        response = client.list_experiments(page_size=20)
    except KfpProfilesError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for experiment in response.experiments or []:
        print(f"  {experiment.experiment_id}  {experiment.display_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
