"""The `vmspec` command. A plan asked again with nothing changed is answered from its
memo (vmspec/host/plan_memo.py) before the CLI and the compiler are even imported:
then it costs about what reading the host costs. Everything else is the CLI's."""

import sys


def main() -> None:
    if sys.argv[1:2] == ["plan"]:
        from vmspec.host.plan_memo import replay

        if replay(sys.argv[1:]):
            sys.exit(0)
    from vmspec.cli import main as cli

    cli()
