"""The ``vmspec`` command: the only place that prints problems and picks exit codes.

Exit codes, the same for every command: 0 ok; 1 anything wrong (problems in the specs,
golden files that differ, a usage error, a host that could not be converged, something
refused or blocked); 2 only from plan, when changes are pending. A CI gate can then
read 2 as "changes" and nothing else.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import json
import os
import sys
import threading
from pathlib import Path
from typing import ClassVar

import click

# Only what validate and compile need is imported here: `vmspec compile ONE.yaml` is bound
# by start-up (benchmarks/startup_bench.py). plan, apply, destroy, import and diagnostics
# import their modules (compare, host, lift) inside themselves.
from vmspec import __version__
from vmspec.compile import CompiledResource, CompileResult, ValidDocuments, compile_paths
from vmspec.problems import Problem
from vmspec.scope import DEFAULT_SCOPE

EXIT_PROBLEMS = 1
EXIT_USAGE = 1  # not click's 2: that is plan's "changes pending"
EXIT_CHANGES = 2  # plan only, like terraform plan -detailed-exitcode


class _Group(click.Group):
    """click exits 2 on usage errors; here that code means "changes pending" (plan), so
    usage errors exit 1 like every other error."""

    # The command line as given: a remembered plan (vmspec/host/plan_memo.py) is found by it.
    arguments: ClassVar[list[str]] = []

    def main(self, args=None, *rest, standalone_mode: bool = True, **kwargs):
        _Group.arguments = list(args) if args is not None else sys.argv[1:]
        try:
            result = super().main(args, *rest, standalone_mode=False, **kwargs)
        except click.ClickException as error:
            error.show()
            sys.exit(EXIT_USAGE)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(EXIT_PROBLEMS)
        if not standalone_mode:
            return result
        sys.exit(result if isinstance(result, int) else 0)


_paths_argument = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path)
)


_scope_option = click.option(
    "--scope",
    metavar="NAME",
    help="The scope that owns what these specs make; default: $VMSPEC_SCOPE, else "
    "scope: in the repo's .vmspec.yaml, else 'default'.",
)
_target_option = click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="KIND/NAME",
    help="Only this object (domain/NAME or a bare VM name, pool/NAME, network/NAME, "
    "volume/POOL/NAME) and what it needs; repeatable.",
)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vmspec")
@click.pass_context
def main(context: click.Context) -> None:
    """Compile declarative VM specs (YAML) into canonical libvirt domain XML."""
    # Colors go only to a terminal (click strips them from pipes and files) and never
    # with NO_COLOR set to anything but "" (https://no-color.org), which click ignores.
    if os.environ.get("NO_COLOR"):
        context.color = False


_quiet_option = click.option(
    "-q", "--quiet", is_flag=True, help="No progress bar and no summary line; problems only."
)
_no_compile_cache_option = click.option(
    "--no-cache",
    "cache",
    flag_value=False,
    default=True,
    help="Validate, lower and emit every document again, not only those that changed "
    "(README, Performance).",
)


@main.command()
@_paths_argument
@_quiet_option
@_no_compile_cache_option
def validate(paths: tuple[Path, ...], quiet: bool, cache: bool) -> None:
    """Check spec files and directories; report every problem with file, line and field."""
    result = _compile_or_exit(paths, quiet=quiet, cache=cache)
    if not quiet:
        click.echo(f"{_count(result.documents, 'spec')} valid")


@main.command(name="compile")
@_paths_argument
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/NAME.xml per VM, DIR/pools/, DIR/networks/ and DIR/volumes/POOL/ (atomically).",
)
@click.option(
    "--check",
    "check_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Compare with the files -o DIR would write; print diffs and exit 1 on any difference.",
)
@click.option(
    "--prune",
    is_flag=True,
    help="With -o: delete the .xml files in DIR that no spec compiles to any more.",
)
@_scope_option
@_quiet_option
@_no_compile_cache_option
def compile_command(
    paths: tuple[Path, ...],
    output_dir: Path | None,
    check_dir: Path | None,
    prune: bool,
    scope: str | None,
    quiet: bool,
    cache: bool,
) -> None:
    """Compile specs to libvirt XML: one resource to stdout, or one file each with -o."""
    if output_dir and check_dir:
        raise click.UsageError("give either -o DIR or --check DIR, not both")
    if prune and output_dir is None:
        raise click.UsageError("--prune needs -o DIR")
    # What the imports made (classes, the schema, the policy tables) lives as long as the
    # process: frozen, no garbage collection walks it again while thousands of specs are
    # read (1.6% of compiling 300 specs, in instructions).
    gc.freeze()
    result = _compile_or_exit(paths, _resolve_scope(scope, paths).name, quiet=quiet, cache=cache)
    if check_dir is not None:
        sys.exit(_check_golden(result.resources, check_dir, quiet))
    if output_dir is not None:
        output = _OutputDirectory(output_dir)
        written = sum(
            output.write(resource.output_path, resource.xml) for resource in result.resources
        )
        removed = (
            _prune_output(output_dir, {r.output_path for r in result.resources}) if prune else []
        )
        unchanged = len(result.resources) - written
        summary = f"wrote {_count(written, 'file')} to {output_dir} ({unchanged} unchanged"
        summary += f", {len(removed)} removed" if prune else ""
        if result.from_cache:  # say so: a run that compiled nothing reads differently
            summary += f"; {result.from_cache} of {len(result.resources)} from the compile cache"
        summary += ")"
        if not quiet:
            click.echo(summary, err=True)
        for name in removed:
            click.echo(f"removed {output_dir / name}: no spec compiles to it any more", err=True)
        return
    if not result.resources:
        # Valid documents that compile to nothing: an Inventory says where specs go, a
        # Profile is merged into the VMs that list it.
        click.echo(
            "vmspec: nothing to compile (Inventory and Profile documents compile to no XML)",
            err=True,
        )
        return
    if len(result.resources) != 1:
        count = _count(len(result.resources), "resource")
        raise click.UsageError(f"the paths hold {count}; stdout takes one: write them with -o DIR")
    sys.stdout.buffer.write(result.resources[0].xml)


# Like virsh: -c URI, else $LIBVIRT_DEFAULT_URI, else libvirt's default (libvirt reads both).
_connect_option = click.option(
    "-c",
    "--connect",
    "uri",
    metavar="URI",
    help="libvirt URI; default: $LIBVIRT_DEFAULT_URI, else libvirt's default.",
)


@main.command()
@click.argument("arguments", nargs=-1, required=True, metavar="PATH... [NAME]")
@click.option(
    "--field",
    metavar="PATH",
    help="Only this field, as spec.disks[0].cache (a mapping or list: all of it).",
)
@_connect_option
def explain(arguments: tuple[str, ...], field: str | None, uri: str | None) -> None:
    """Show a VM's resolved spec (profiles laid in, the policy's defaults added), each
    value with the FILE:LINE that wrote it or the policy rule that set it and why. With
    -c, the host's facts count (a host that is itself a VM gets cpu mode none)."""
    from vmspec.compile import VIRTUAL_MACHINE
    from vmspec.explain import document_lines, explain, field_lines, parse_field

    paths = tuple(Path(argument) for argument in arguments if Path(argument).exists())
    names = [argument for argument in arguments if not Path(argument).exists()]
    if not paths or len(names) > 1:
        raise click.UsageError(f"give spec files or folders, then at most one VM name: {names}")
    try:
        path = parse_field(field) if field else None
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    documents = ValidDocuments(paths)
    machines = [document for document in documents if document.data["kind"] == VIRTUAL_MACHINE]
    if documents.problems:
        files = len({problem.file for problem in documents.problems})
        _fail(
            documents.problems,
            f"{_count(len(documents.problems), 'problem')} in {_count(files, 'file')}",
        )
    chosen = [d for d in machines if not names or d.data["metadata"]["name"] == names[0]]
    if len(chosen) != 1:
        known = sorted(d.data["metadata"]["name"] for d in machines)
        wanted = f"{len(chosen)} VMs" if not names else f"no VM named {names[0]!r}"
        close = difflib.get_close_matches(names[0], known, n=1) if names else []
        hint = (
            f"did you mean {close[0]!r}?" if close else f"name one of: {', '.join(known) or 'none'}"
        )
        _fail([], f"{wanted} in {', '.join(map(str, paths))}; {hint}", EXIT_USAGE)
    nested = _nested_kvm_host(uri) if uri is not None else False
    explanation = explain(chosen[0], nested_kvm_host=nested)
    if uri is not None:
        facts = "itself a VM (its CPU has the hypervisor flag)" if nested else "not a VM"
        click.echo(f"# host {uri}: {facts}")
    lines = field_lines(explanation, path) if path else document_lines(explanation)
    click.echo("\n".join(lines))


def _nested_kvm_host(uri: str) -> bool:
    """Whether the host at ``uri`` is itself a VM (read from its capabilities)."""
    try:
        from vmspec.compare.facts import host_facts
        from vmspec.host.connection import Host
        from vmspec.host.errors import HostError
    except ImportError:
        _fail([], "explain -c needs libvirt-python: pip install 'vmspec[libvirt]'")
    try:
        host = Host(uri)
        try:
            capabilities = host.call(
                "reading host capabilities", None, lambda c: c.getCapabilities()
            )
        finally:
            host.close()
    except HostError as error:
        _fail([], str(error))
    return host_facts(capabilities).nested


_fleet_options = [
    click.option(
        "--inventory",
        "inventory_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="A kind: Inventory file: plan every host it names (not with -c).",
    ),
    click.option(
        "--limit",
        multiple=True,
        metavar="HOSTPATTERN",
        help="With --inventory: only hosts whose name matches (shell style); repeatable.",
    ),
    click.option(
        "--parallel",
        type=click.IntRange(1, 64),
        default=4,
        show_default=True,
        help="With --inventory: how many hosts at once.",
    ),
    click.option(
        "--connect-timeout",
        type=click.FloatRange(0.1, 600),
        default=10.0,
        show_default=True,
        metavar="SECONDS",
        help="With --inventory: how long a host may take to answer.",
    ),
]


def _with_fleet_options(command):
    for option in reversed(_fleet_options):
        command = option(command)
    return command


def _host_options(command):
    """The options plan and apply share."""
    options = [
        _connect_option,
        _scope_option,
        _target_option,
        click.option(
            "--prune",
            is_flag=True,
            help="Delete domains vmspec manages that no spec names (disks are kept).",
        ),
        click.option(
            "--adopt",
            is_flag=True,
            help="Take over same-named domains that vmspec does not manage.",
        ),
        click.option(
            "--restart", is_flag=True, help="Restart running guests whose changes need a restart."
        ),
        click.option(
            "--live", is_flag=True, help="Also attach/detach disks and NICs on running guests."
        ),
        click.option(
            "--force",
            is_flag=True,
            help="Allow powering off guests (prune, stop or restart past the timeout).",
        ),
        click.option(
            "--delete-volumes",
            is_flag=True,
            help="With --prune: also delete volumes no spec names, and pools holding them.",
        ),
        click.option(
            "--no-cache",
            "cache",
            flag_value=False,
            default=True,
            help="Plan in full: use neither the plan cache nor a remembered plan (README, "
            "Performance).",
        ),
        *_fleet_options,
    ]
    for option in reversed(options):
        command = option(command)
    return _paths_argument(command)


@main.command()
@_host_options
@click.option(
    "--output",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="markdown: for a comment on a pull or merge request (docs/ci.md).",
)
def plan(
    paths: tuple[Path, ...],
    uri: str | None,
    output: str,
    scope: str | None,
    targets: tuple[str, ...],
    **flags: bool,
) -> None:
    """Show what apply would change on the host. Exit 0: no changes, 2: changes pending,
    1: anything else (errors, refused or blocked resources)."""
    from vmspec.host.report import plan_lines

    inventory_path, reach = _pop_fleet_options(flags)
    if inventory_path is not None:
        _plan_fleet_command(paths, uri, scope, targets, flags, inventory_path, reach, output)
        return  # (it exits with the plan's code)
    from vmspec.host import plan_memo

    memo = _PlanMemo(_Group.arguments) if plan_memo.wanted(_Group.arguments) else None
    with memo.reads if memo else contextlib.nullcontext():
        host, host_plan, _ = _make_plan(
            paths, uri, scope, targets, flags, before=memo.before if memo else None
        )
    if output == "json":
        printed = json.dumps(host_plan.to_json(), indent=2) + "\n"
    elif output == "markdown":
        from vmspec.host.report_markdown import plan_markdown

        printed = plan_markdown(host_plan)
    else:
        printed = _styled_plan(plan_lines(host_plan)) + "\n"
    click.echo(printed, nl=False)
    if memo:
        memo.after(host_plan.resources, host_plan.has_changes or bool(host_plan.refused), printed)
    host.close()
    if host_plan.refused:
        sys.exit(EXIT_PROBLEMS)
    sys.exit(EXIT_CHANGES if host_plan.has_changes else 0)


class _PlanMemo:
    """Remembers a plan (of one host, or of an inventory's hosts) that finds nothing to
    change, so that the same command asked again replays it (vmspec/host/plan_memo.py
    says when that is safe)."""

    def __init__(self, arguments: list[str]) -> None:
        from vmspec.host import plan_memo

        self.arguments = arguments
        self.reads = plan_memo.LocalReads()
        self.uris: list[str | None] = []
        self.states: list[str] | None = None
        self.pools: set[str] = set()

    def before(self, host, documents, options) -> None:
        """One host as the plan is about to read it."""
        from vmspec.host.plan_memo import host_state

        self._before(
            options, documents, [host.uri], lambda: [host_state(host.connection, self.pools)], host
        )

    def before_fleet(self, uris: list[str], documents, options) -> None:
        """An inventory's hosts as the plan is about to read them."""
        from vmspec.host.plan_memo import host_states

        self._before(options, documents, uris, lambda: host_states(uris, self.pools), None)

    def _before(self, options, documents, uris, read_states, host) -> None:
        import libvirt

        from vmspec.host.errors import HostError
        from vmspec.host.session import pools_the_specs_use

        if not options.cache:
            return
        machines = [d.data for d in documents if d.data["kind"] == "VirtualMachine"]
        self.uris, self.pools = uris, pools_the_specs_use(machines)
        self._read_states = read_states
        try:
            if options.prune:  # a prune plan reads the volumes of the scope's own pools too
                self.pools |= _all_pool_names(uris, host)
            self.states = read_states()
        except (libvirt.libvirtError, HostError):
            self.states = None  # the plan itself reads the hosts and says what is wrong

    def after(self, resources, changed: bool, printed: str) -> None:
        """Remember the plan if it changes nothing, the hosts are as they were before the
        plan read them, and nothing it depends on is outside what the memo checks."""
        import libvirt

        from vmspec.compare.model import Kind
        from vmspec.host import plan_memo
        from vmspec.host.errors import HostError
        from vmspec.host.references import assigns_host_devices

        if self.states is None or changed:
            return
        if any(
            plan.kind == Kind.DOMAIN and plan.desired and assigns_host_devices(plan.desired.domain)
            for plan in resources
        ):
            return  # it read the host's devices: not part of the memo's host state
        try:
            if self._read_states() != self.states:
                return  # a host changed while the plan read it
        except (libvirt.libvirtError, HostError):
            return
        # What click.echo wrote: colors only to a terminal, and never with NO_COLOR.
        if os.environ.get("NO_COLOR") or not sys.stdout.isatty():
            printed = click.unstyle(printed)
        hosts = list(zip(self.uris, self.states, strict=True))
        plan_memo.save(self.arguments, hosts, self.reads, self.pools, printed)


def _all_pool_names(uris, host) -> set[str]:
    from vmspec.host.connection import Host

    names: set[str] = set()
    for uri in uris:
        connection = host or Host(uri)
        try:
            names |= {pool.name() for pool in connection.connection.listAllStoragePools(0)}
        finally:
            if host is None:
                connection.close()
    return names


@main.command()
@_host_options
@click.option(
    "--shutdown-timeout",
    type=float,
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="How long a guest may take to shut down.",
)
@click.option(
    "--allow-move",
    is_flag=True,
    help="With --inventory: move VMs whose placement names another host (cold: with "
    "--restart when running).",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="No progress bars (the plan and each step still print)."
)
def apply(
    paths: tuple[Path, ...],
    uri: str | None,
    shutdown_timeout: float,
    scope: str | None,
    targets: tuple[str, ...],
    quiet: bool,
    **flags: bool,
) -> None:
    """Converge the host to the specs and print what was done. Exit 0, or 1 on any failure."""
    from vmspec.host.report import plan_lines

    allow_move = flags.pop("allow_move")
    inventory_path, reach = _pop_fleet_options(flags, allow_move=allow_move)
    if inventory_path is not None:
        _apply_fleet_command(
            paths,
            uri,
            scope,
            targets,
            flags,
            inventory_path,
            reach,
            allow_move,
            shutdown_timeout,
            quiet,
        )
        return
    host, host_plan, options = _make_plan(paths, uri, scope, targets, flags)
    _carry_out(host, host_plan, options, shutdown_timeout, plan_lines(host_plan), quiet=quiet)


def _carry_out(
    host, host_plan, options, shutdown_timeout: float, shown: list[str], *, quiet: bool = False
) -> None:
    """Print the plan, apply it, report what was refused, blocked or failed, and exit."""
    from vmspec.compare.model import Action  # plan's model: not loaded for compile
    from vmspec.host.apply import apply_plan, resources_to_apply

    try:
        if not host_plan.has_changes and not host_plan.refused:
            click.echo(f"No changes: {host_plan.uri} matches the specs.")
            return
        _echo_plan(shown[:-1])
        click.echo("Applying:")
        with _resource_progress(len(resources_to_apply(host_plan)), quiet) as bar:
            failures = apply_plan(
                host, host_plan, options, bar.echo, shutdown_timeout=shutdown_timeout, done=bar
            )
    finally:
        host.close()
    for refused in host_plan.refused:
        verb = "refused" if refused.action == Action.REFUSE else "blocked"
        click.echo(f"vmspec: {refused.name}: {verb}: {refused.reason}", err=True)
    if failures or host_plan.refused:
        click.echo(
            f"vmspec: {_count(len(failures) + len(host_plan.refused), 'resource')} not converged",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)
    click.echo("Done.")


@main.command()
@_paths_argument
@_connect_option
@_scope_option
@_target_option
@click.option(
    "--delete-volumes",
    is_flag=True,
    help="Also delete the volumes the specs create (and their cloud-init seeds).",
)
@click.option("--yes", is_flag=True, help="Do not ask; needed when stdin is not a terminal.")
@click.option("--shutdown-timeout", type=float, default=120.0, show_default=True, metavar="SECONDS")
@_with_fleet_options
def destroy(
    paths: tuple[Path, ...],
    uri: str | None,
    scope: str | None,
    targets: tuple[str, ...],
    delete_volumes: bool,
    yes: bool,
    shutdown_timeout: float,
    **fleet_options,
) -> None:
    """Remove the VMs the specs describe and this scope owns (powered off, disks kept).

    Volumes go only with --delete-volumes; pools and networks only when named with
    --target. The plan is shown first; a terminal is asked, otherwise --yes is needed.
    With --inventory: on every host, wherever the VMs are defined.
    """
    from vmspec.host.report import plan_lines

    flags = {"delete_volumes": delete_volumes, "force": True}
    inventory_path, reach = _pop_fleet_options(fleet_options)
    if inventory_path is not None:
        _destroy_fleet_command(
            paths, uri, scope, targets, flags, inventory_path, reach, yes, shutdown_timeout
        )
        return
    host, host_plan, options = _make_plan(paths, uri, scope, targets, flags, destroy=True)
    shown = plan_lines(host_plan)
    if not host_plan.has_changes:
        # What stays, and why (another scope's, still in use), is the whole answer.
        host.close()
        _echo_plan(shown[:-1])
        click.echo("Nothing to destroy.")
        return
    if not yes:
        _echo_plan(shown)
        if not sys.stdin.isatty():
            host.close()
            _fail([], "stdin is not a terminal: add --yes to destroy", EXIT_PROBLEMS)
        if not click.confirm("Destroy these?", default=False):
            host.close()
            _fail([], "nothing destroyed", EXIT_PROBLEMS)
        shown = ["", ""]  # shown already: apply prints only what it does
    _carry_out(host, host_plan, options, shutdown_timeout, shown)


@main.command()
@click.argument("targets", nargs=-1, metavar="[NAME... | PATH...]")
@_connect_option
@click.option("--output", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option(
    "--watch",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Refresh every SECONDS, with CPU %, disk and NIC bytes/s; Ctrl-C stops.",
)
@click.option("--count", type=click.IntRange(min=1), hidden=True, help="Stop after N samples.")
@_with_fleet_options
def diagnostics(
    targets: tuple[str, ...],
    uri: str | None,
    output: str,
    watch: float | None,
    count: int | None,
    **fleet_options,
) -> None:
    """Show state, CPU, memory, disk and NIC counters of domains, read in one bulk call.

    Each argument that is an existing path is read as specs (their VMs' names); any
    other is a domain name. No argument: every domain on the host. JSON keys are listed
    in the README (with --watch: one JSON document per line).
    """
    import time

    names = _diagnostics_names(targets) if targets else None
    inventory_path, reach = _pop_fleet_options(fleet_options)
    if inventory_path is not None:
        if watch is not None:
            raise click.UsageError("--watch follows one host: give -c rather than --inventory")
        _diagnostics_fleet(uri, names, output, inventory_path, reach)
        return
    try:
        from vmspec.host.connection import Host
        from vmspec.host.diagnostics import Sampler
        from vmspec.host.diagnostics_report import table_lines, to_json
        from vmspec.host.errors import HostError
    except ImportError:
        _fail([], "diagnostics needs libvirt-python: pip install 'vmspec[libvirt]'")
    host = None
    try:
        host = Host(uri)
        sampler = Sampler(host, names)
        previous, shown = None, 0
        next_at = time.monotonic()
        while True:
            current = sampler.sample()
            if output == "json":
                document = to_json(current, previous)
                click.echo(json.dumps(document, indent=None if watch else 2))
            else:
                if watch and shown:
                    # A terminal shows the latest sample; piped output keeps every one.
                    if sys.stdout.isatty():
                        click.clear()
                    else:
                        click.echo()
                click.echo("\n".join(table_lines(current, previous)))
            shown += 1
            if watch is None or (count is not None and shown >= count):
                return
            previous = current
            next_at += watch  # every SECONDS, however long a sample takes
            time.sleep(max(0.0, next_at - time.monotonic()))
    except KeyboardInterrupt:
        return  # Ctrl-C is how --watch ends
    except HostError as error:
        _fail([], str(error))
    finally:
        if host is not None:
            host.close()


def _diagnostics_names(targets: tuple[str, ...]) -> list[str]:
    """Domain names: an existing path gives its VirtualMachine documents' names."""
    from vmspec.compile import VIRTUAL_MACHINE

    names: list[str] = []
    for target in targets:
        path = Path(target)
        if not path.exists() and "/" in target:
            # libvirt refuses '/' in domain names: this was meant as a path.
            _fail([], f"{target}: no such file or directory", EXIT_USAGE)
        if not path.exists():
            names.append(target)
            continue
        documents = ValidDocuments([path])
        found = [
            document.data["metadata"]["name"]
            for document in documents
            if document.data["kind"] == VIRTUAL_MACHINE
        ]
        if documents.problems:
            files = len({problem.file for problem in documents.problems})
            _fail(
                documents.problems,
                f"{_count(len(documents.problems), 'problem')} in {_count(files, 'file')}",
            )
        if not found:
            _fail([], f"no VirtualMachine documents found in {target}", EXIT_USAGE)
        names.extend(found)
    return list(dict.fromkeys(names))


def _make_plan(
    paths: tuple[Path, ...],
    uri: str | None,
    scope_option: str | None,
    target_options: tuple[str, ...],
    flags: dict[str, bool],
    *,
    destroy: bool = False,
    before=None,
):
    """Specs → validated documents, then the host's facts and domains → a plan (or, with
    ``destroy``, the plan that removes them). ``before(host, documents, options)`` is
    called once the host is open, before the plan reads it."""
    from vmspec.fleet.inventory import INVENTORY

    scope = _resolve_scope(scope_option, paths)
    documents = ValidDocuments(paths)
    valid = [document for document in documents if document.data["kind"] != INVENTORY]
    if documents.problems:
        files = len({problem.file for problem in documents.problems})
        _fail(
            documents.problems,
            f"{_count(len(documents.problems), 'problem')} in {_count(files, 'file')}",
        )
    if not documents.count:
        _fail([], f"no spec documents found in {', '.join(map(str, paths))}", EXIT_USAGE)
    try:
        from vmspec.host.connection import Host
        from vmspec.host.errors import HostError
    except ImportError:
        _fail([], "plan and apply need libvirt-python: pip install 'vmspec[libvirt]'")
    from vmspec.compare.model import Options
    from vmspec.host.destroy import plan_destroy
    from vmspec.host.graph import TargetError, parse_target
    from vmspec.host.session import plan_documents

    if target_options and flags.get("prune"):
        raise click.UsageError("--prune looks at every spec: it cannot go with --target")
    try:
        targets = tuple(parse_target(target) for target in target_options)
    except TargetError as error:
        raise click.UsageError(str(error)) from None
    options = Options(**flags, scope=scope, targets=targets)
    make = plan_destroy if destroy else plan_documents
    try:
        host = Host(uri)
        if before is not None:
            before(host, valid, options)
        return host, make(host, valid, options), options
    except TargetError as error:
        _fail([], str(error))
    except HostError as error:
        _fail([], str(error))
    raise AssertionError("unreachable: _fail exits")


def _resolve_scope(option: str | None, paths: tuple[Path, ...]):
    from vmspec.problems import SpecError
    from vmspec.scope import resolve_scope

    try:
        return resolve_scope(option, paths, os.environ)
    except SpecError as error:
        _fail(error.problems, "the scope is not valid")
        raise  # unreachable: _fail exits


@main.command()
def schema() -> None:
    """Print the JSON Schema of spec documents (for editors and linters)."""
    from vmspec.schema import load_schema

    click.echo(json.dumps(load_schema(), indent=2))


def _compile_or_exit(
    paths: tuple[Path, ...], scope: str = DEFAULT_SCOPE, *, quiet: bool = False, cache: bool
) -> CompileResult:
    """``cache``: use the compile cache (vmspec/compile_cache.py), if it can be opened."""
    from vmspec.compile_cache import CompileCache

    compile_cache = CompileCache.opened(scope) if cache else None
    try:
        with _file_progress(paths, "compiling", quiet) as progress:
            result = compile_paths(paths, scope, progress, compile_cache)
    finally:
        if compile_cache is not None:
            compile_cache.save()
    if not result.problems and not result.documents:
        _fail([], f"no spec documents found in {', '.join(map(str, paths))}", EXIT_USAGE)
    if result.problems:
        files = len({problem.file for problem in result.problems})
        _fail(
            result.problems, f"{_count(len(result.problems), 'problem')} in {_count(files, 'file')}"
        )
    return result


def _fail(problems: list[Problem], summary: str, code: int = EXIT_PROBLEMS) -> None:
    for problem in sorted(problems, key=lambda p: (p.file, p.line, p.column)):
        click.echo(str(problem), err=True)
    click.echo(f"vmspec: {summary}", err=True)
    sys.exit(code)


# Plan lines by their leading symbol (vmspec/host/report.py): what apply creates,
# changes, deletes, cannot do; fleets add hosts (==) and moves (>).
_PLAN_STYLES = {
    "+ ": {"fg": "green"},
    "~ ": {"fg": "yellow"},
    "- ": {"fg": "red"},
    "! ": {"fg": "red", "bold": True},
    "> ": {"fg": "cyan"},
    "== ": {"bold": True},
    "Plan: ": {"bold": True},
}


def _echo_plan(lines: list[str]) -> None:
    """Plan lines, colored where click lets colors through (a terminal, no NO_COLOR)."""
    click.echo(_styled_plan(lines))


def _styled_plan(lines: list[str]) -> str:
    styled = []
    for line in lines:
        style = next((s for start, s in _PLAN_STYLES.items() if line.startswith(start)), None)
        styled.append(click.style(line, **style) if style else line)
    return "\n".join(styled)


# Fewer files than this compile in well under a second (benchmarks/): no bar to flash by.
_PROGRESS_FROM_FILES = 200


@contextlib.contextmanager
def _file_progress(paths: tuple[Path, ...], label: str, quiet: bool):
    """A progress bar over the spec files under ``paths`` on a terminal (stderr), for
    runs long enough to want one; else nothing. Yields what compile_paths calls with
    each valid document's file (or None)."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from vmspec.load.yaml_loader import spec_files

    total = sum(1 for _ in spec_files(paths))
    if total < _PROGRESS_FROM_FILES:
        yield None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        seen: set[str] = set()

        def advance(file: str) -> None:
            if file not in seen:  # documents of one file come one after another
                seen.add(file)
                bar.update(1)

        yield advance


def _check_golden(resources: list[CompiledResource], golden_dir: Path, quiet: bool) -> int:
    differing = 0
    expected_files = set()
    for resource in resources:
        golden = golden_dir / resource.output_path
        expected_files.add(resource.output_path)
        try:
            current = golden.read_bytes()
        except FileNotFoundError:
            click.echo(f"{golden}: missing (compile with -o {golden_dir} to create it)")
            differing += 1
            continue
        if current != resource.xml:
            differing += 1
            diff = difflib.unified_diff(
                current.decode("utf-8", "replace").splitlines(keepends=True),
                resource.xml.decode().splitlines(keepends=True),
                fromfile=str(golden),
                tofile=f"{resource.file} ({resource.name})",
            )
            click.echo("".join(diff), nl=False)
    if golden_dir.is_dir():
        present = {path.relative_to(golden_dir).as_posix() for path in golden_dir.rglob("*.xml")}
        for stale in sorted(present - expected_files):
            click.echo(
                f"{golden_dir / stale}: no spec defines {stale.removesuffix('.xml')} any more"
            )
            differing += 1
    if differing:
        click.echo(f"vmspec: {_count(differing, 'golden file')} out of date", err=True)
        return EXIT_PROBLEMS
    if not quiet:
        click.echo(f"{_count(len(resources), 'golden file')} up to date", err=True)
    return 0


def _prune_output(directory: Path, expected: set[str]) -> list[str]:
    """Delete the .xml files under ``directory`` that no spec compiles to (a VM renamed or
    removed), so the folder holds exactly what the specs say; other files are left."""
    removed = []
    for path in sorted(directory.rglob("*.xml")):
        name = path.relative_to(directory).as_posix()
        if name not in expected:
            path.unlink()
            removed.append(name)
    return removed


class _OutputDirectory:
    """A folder that compile -o (import -o) writes files into, one by one."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Worked out once, not for each of a thousand files: resolving a path stats
        # every one of its components.
        self._resolved: Path | None = None
        self._made: set[Path] = set()

    def write(self, name: str, content: bytes) -> bool:
        """Write through a temporary file and a rename, so an interrupted compile never
        leaves a half-written golden file behind. An unchanged file is left alone
        (and keeps its modification time, which make and rsync rely on). Returns
        whether the file was written."""
        target = self.path / name
        if not self._lands_inside(name):
            raise click.UsageError(f"refusing to write {name}: it would land outside {self.path}")
        if target.parent not in self._made:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(target.parent)
        try:
            if target.read_bytes() == content:
                return False
        except OSError:
            pass  # missing or unreadable: write it
        import tempfile  # here: its imports (shutil, random, bz2, lzma) would cost every command

        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return True

    def _lands_inside(self, name: str) -> bool:
        """Whether ``name``, symbolic links followed, is a file inside the folder."""
        relative = Path(name)
        if not relative.is_absolute() and ".." not in relative.parts:
            here = self.path
            for part in relative.parts:
                here = here / part
                if os.path.islink(here):
                    break
            else:
                return True  # no link, no "..": the resolved folder's own file
        if self._resolved is None:
            self._resolved = self.path.resolve()
        return (self.path / name).resolve().is_relative_to(self._resolved)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


@main.command(name="import")
@click.argument("names", nargs=-1)
@_connect_option
@click.option(
    "--all", "import_all", is_flag=True, help="Import every persistent domain of the host."
)
@click.option(
    "--xml",
    "xml_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Import a domain XML file instead (offline; repeatable).",
)
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write DIR/NAME.yaml per domain; default: stdout.",
)
@click.option(
    "--lossy",
    is_flag=True,
    help="Write specs even where the vocabulary cannot say everything (and print what is dropped).",
)
@_with_fleet_options
def import_command(
    names: tuple[str, ...],
    uri: str | None,
    import_all: bool,
    xml_files: tuple[Path, ...],
    output_dir: Path | None,
    lossy: bool,
    **fleet_options,
) -> None:
    """Write specs for existing domains: from a host (NAME... or --all) or from XML files.

    A domain the spec vocabulary cannot fully describe is refused, with the XPath of each
    element or attribute it would drop, unless --lossy is given.
    """
    from vmspec.lift.sources import lift_files
    from vmspec.yaml_text import dump_spec_yaml

    if xml_files and (names or import_all):
        raise click.UsageError("give domain names (or --all), or --xml FILE..., not both")
    if not xml_files and not names and not import_all:
        raise click.UsageError("name the domains to import, or give --all or --xml FILE...")
    inventory_path, reach = _pop_fleet_options(fleet_options)
    wanted = None if import_all else list(names)
    unreachable: list[str] = []
    if xml_files:
        lifted = lift_files(list(xml_files))
    elif inventory_path is not None:
        lifted, unreachable = _lift_from_inventory(uri, wanted, inventory_path, reach)
    else:
        lifted = _lift_from_host(uri, wanted)
    refused = len(unreachable)
    for message in unreachable:
        click.echo(f"vmspec: {message}", err=True)
    written: list[str] = []
    seen: set[str] = set()
    for item in lifted:
        # Each domain is judged on its own first: several files of one name (libvirt's test
        # suite calls most of its guests QEMUGuest1) each get their own reasons.
        if not item.document:
            refused += 1
            click.echo(
                f"vmspec: {item.name}: cannot be imported: {'; '.join(item.dropped)}", err=True
            )
            continue
        if item.dropped and not lossy:
            refused += 1
            lines = "\n".join(f"  {path}" for path in item.dropped)
            click.echo(
                f"vmspec: {item.name}: not imported; the spec cannot express:\n{lines}", err=True
            )
            continue
        if item.name in seen:
            # A second domain of the same name would overwrite the first's spec.
            refused += 1
            click.echo(
                f"vmspec: {item.name}: not imported: a domain of that name was imported already",
                err=True,
            )
            continue
        seen.add(item.name)
        for path in item.dropped:
            click.echo(f"vmspec: {item.name}: dropped {path}", err=True)
        text = dump_spec_yaml(item.document)
        if output_dir is not None:
            _OutputDirectory(output_dir).write(f"{item.name}.yaml", text.encode())
        written.append(text)
    if output_dir is None and written:
        click.echo("---\n".join(written), nl=False)
    elif output_dir is not None:
        click.echo(f"wrote {_count(len(written), 'spec')} to {output_dir}", err=True)
    if refused:
        if refused > len(unreachable):
            click.echo(
                f"vmspec: {_count(refused - len(unreachable), 'domain')} not imported", err=True
            )
        sys.exit(EXIT_PROBLEMS)


def _lift_from_host(uri: str | None, names: list[str] | None):
    try:
        from vmspec.host.connection import Host
        from vmspec.host.errors import HostError
        from vmspec.host.importing import lift_host_domains
    except ImportError:
        _fail([], "import from a host needs libvirt-python: pip install 'vmspec[libvirt]'")
    try:
        host = Host(uri)
        try:
            return lift_host_domains(host, names)
        finally:
            host.close()
    except HostError as error:
        _fail([], str(error))
        raise  # unreachable: _fail exits


# --- many hosts: --inventory -----------------------------------------------------------


def _diagnostics_fleet(uri, names, output: str, inventory_path, reach) -> None:
    """One sample of every host, in the inventory's order; the named domains wherever
    they are (a name no host that answered has is an error)."""
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from vmspec.host.connection import Host
    from vmspec.host.diagnostics import Sampler
    from vmspec.host.diagnostics_report import table_lines, to_json
    from vmspec.host.errors import HostError
    from vmspec.host.fleet import HostPlan

    inventory, _, _ = _fleet_inputs((), uri, None, inventory_path)
    hosts = [HostPlan(host) for host in inventory.limited(reach.limit).hosts]

    def sample(host_plan: HostPlan):
        try:
            host_plan.connection = Host(host_plan.host.uri, timeout=reach.connect_timeout)
            taken = Sampler(host_plan.connection, None).sample()
        except HostError as error:
            host_plan.error = str(error)
            return None
        finally:
            if host_plan.connection is not None:
                host_plan.connection.close()
        if names is None:
            return taken
        return dataclasses.replace(
            taken, domains=tuple(d for d in taken.domains if d.name in names)
        )

    with ThreadPoolExecutor(max_workers=reach.parallel) as pool:
        samples = list(pool.map(sample, hosts))
    found = {d.name for taken in samples if taken for d in taken.domains}
    missing = [name for name in names or () if name not in found]
    if output == "json":
        entries = [
            {"name": h.host.name, "error": h.error, "diagnostics": to_json(t) if t else None}
            for h, t in zip(hosts, samples, strict=True)
        ]
        click.echo(json.dumps({"formatVersion": 1, "hosts": entries}, indent=2))
    else:
        for host_plan, taken in zip(hosts, samples, strict=True):
            click.echo(f"== {host_plan.host.name} ({host_plan.host.uri})")
            click.echo(
                f"! unreachable: {host_plan.error}"
                if taken is None
                else "\n".join(table_lines(taken))
            )
    if missing:
        click.echo(
            f"vmspec: no domain named {', '.join(map(repr, missing))} on the hosts that answered",
            err=True,
        )
    if missing or any(h.error for h in hosts):
        sys.exit(EXIT_PROBLEMS)


def _lift_from_inventory(uri, names, inventory_path, reach):
    """Lifted domains from every host of the inventory, each placed on its host, and a
    message for each host that did not answer."""
    from vmspec.host.errors import HostError
    from vmspec.host.fleet import HostPlan
    from vmspec.host.importing import lift_inventory_domains

    inventory, _, _ = _fleet_inputs((), uri, None, inventory_path)
    hosts = [HostPlan(host) for host in inventory.limited(reach.limit).hosts]
    try:
        lifted = lift_inventory_domains(hosts, names, reach)
    except HostError as error:
        _fail([], str(error))
    unreachable = [f"{h.host.name}: not imported from: {h.error}" for h in hosts if h.error]
    return lifted, unreachable


def _pop_fleet_options(flags: dict, *, allow_move: bool = False):
    """--inventory (the file, or None) and how to reach its hosts."""
    from vmspec.fleet.inventory import Reach

    inventory_path = flags.pop("inventory_path")
    reach = Reach(flags.pop("limit"), flags.pop("parallel"), flags.pop("connect_timeout"))
    if inventory_path is None and (reach.limit or allow_move):
        given = "--limit" if reach.limit else "--allow-move"
        raise click.UsageError(f"{given} goes with --inventory")
    return inventory_path, reach


def _fleet_inputs(paths, uri, scope_option, inventory_path):
    """The inventory, the valid spec documents and the scope; exits on problems in any."""
    if uri is not None:
        raise click.UsageError("-c names one host; --inventory names the hosts: give one of them")
    from vmspec.fleet.inventory import INVENTORY, Inventory

    scope = _resolve_scope(scope_option, paths)
    inventory_documents = ValidDocuments([inventory_path])
    inventories = [d for d in inventory_documents if d.data["kind"] == INVENTORY]
    documents = ValidDocuments(paths)
    valid = [d for d in documents if d.data["kind"] != INVENTORY]
    problems = [*inventory_documents.problems, *documents.problems]
    if not problems and len(inventories) != 1:
        found = f"{len(inventories)} Inventory documents"
        _fail([], f"{inventory_path}: {found}; it needs exactly one", EXIT_USAGE)
    if problems:
        files = len({problem.file for problem in problems})
        _fail(problems, f"{_count(len(problems), 'problem')} in {_count(files, 'file')}")
    inventory = Inventory.from_spec(inventories[0].file, inventories[0].data["spec"])
    return inventory, valid, scope


def _make_fleet_plan(paths, uri, scope_option, targets, flags, inventory_path, reach, memo=None):
    """The specs, the inventory and every host's plan; exits on problems in any of them.
    ``memo``: a _PlanMemo that reads the hosts before the plan does."""
    if targets:
        raise click.UsageError("--target is for one host; use --limit with --inventory")
    from vmspec.compare.model import Options
    from vmspec.host.fleet import plan_fleet

    inventory, valid, scope = _fleet_inputs(paths, uri, scope_option, inventory_path)
    options = Options(**flags, scope=scope)
    if memo is not None:
        uris = [host.uri for host in inventory.limited(reach.limit).hosts]
        memo.before_fleet(uris, valid, options)
    fleet, placement_problems = plan_fleet(
        inventory,
        valid,
        options,
        reach,
    )
    if placement_problems:
        fleet.close()
        files = len({problem.file for problem in placement_problems})
        _fail(
            placement_problems,
            f"{_count(len(placement_problems), 'problem')} in {_count(files, 'file')}",
        )
    return fleet, options


def _plan_fleet_command(paths, uri, scope, targets, flags, inventory_path, reach, output) -> None:
    from vmspec.host import plan_memo
    from vmspec.host.report import fleet_lines

    memo = _PlanMemo(_Group.arguments) if plan_memo.wanted(_Group.arguments) else None
    with memo.reads if memo else contextlib.nullcontext():
        fleet, _ = _make_fleet_plan(
            paths, uri, scope, targets, flags, inventory_path, reach, memo=memo
        )
    fleet.close()
    if output == "json":
        printed = json.dumps(fleet.to_json(), indent=2) + "\n"
    elif output == "markdown":
        from vmspec.host.report_markdown import fleet_markdown

        printed = fleet_markdown(fleet)
    else:
        printed = _styled_plan(fleet_lines(fleet)) + "\n"
    click.echo(printed, nl=False)
    if memo:
        resources = [r for h in fleet.hosts if h.plan for r in h.plan.resources]
        memo.after(resources, fleet.has_changes or fleet.failed, printed)
    if fleet.failed:
        sys.exit(EXIT_PROBLEMS)
    sys.exit(EXIT_CHANGES if fleet.has_changes else 0)


def _apply_fleet_command(
    paths, uri, scope, targets, flags, inventory_path, reach, allow_move, shutdown_timeout, quiet
) -> None:
    from vmspec.host.fleet_apply import apply_fleet, no_progress
    from vmspec.host.report import fleet_lines

    fleet, options = _make_fleet_plan(paths, uri, scope, targets, flags, inventory_path, reach)
    try:
        _echo_plan(fleet_lines(fleet))
        click.echo("Applying:")
        failures = apply_fleet(
            fleet,
            options,
            click.echo,
            allow_move=allow_move,
            parallel=reach.parallel,
            shutdown_timeout=shutdown_timeout,
            progress=no_progress if quiet else _copy_progress,
            resource_progress=lambda total: _resource_progress(total, quiet),
        )
    finally:
        fleet.close()
    if failures:
        click.echo(f"vmspec: {_count(failures, 'thing')} not converged", err=True)
        sys.exit(EXIT_PROBLEMS)
    click.echo("Done.")


@contextlib.contextmanager
def _copy_progress(label: str, total: int):
    """A bar for a volume copy on a terminal (click's: percent and time left); nothing
    otherwise, where the line after the copy says what was sent and how fast."""
    if not sys.stderr.isatty():
        yield lambda _sent: None
        return
    label = f"{label} ({total / 2**20:.0f} MiB)"
    with click.progressbar(length=max(total, 1), label=label, file=sys.stderr) as bar:
        shown = 0

        def advance(sent: int) -> None:
            nonlocal shown
            bar.update(min(sent, total) - shown)
            shown = min(sent, total)

        yield advance


# Fewer resources than this are applied in moments, or their own lines say enough: no bar.
_PROGRESS_FROM_RESOURCES = 5


class _ResourceBar:
    """What apply reports through while a bar on stderr counts its resources: called with
    each resource done (from any thread: fleet hosts apply at once), and ``echo`` prints a
    line above the bar, which is drawn again below it, rather than across it."""

    def __init__(self, bar=None) -> None:
        self.bar = bar
        self.drawn = ""  # the bar as click last drew it: "\r" and the whole line
        self.lock = threading.Lock()

    def __call__(self, _resource_plan) -> None:
        if self.bar is not None:
            with self.lock:
                self.bar.update(1)

    def echo(self, line: str) -> None:
        if not self.drawn:
            click.echo(line)
            return
        with self.lock:
            sys.stderr.write("\r\x1b[K")  # the bar's line, cleared
            sys.stderr.flush()
            click.echo(line)
            sys.stderr.write(self.drawn)
            sys.stderr.flush()

    # The file click draws on: stderr, seen on its way.
    def write(self, text: str) -> int:
        self.drawn = text if text.startswith("\r") and "\n" not in text else ""
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


@contextlib.contextmanager
def _resource_progress(total: int, quiet: bool):
    """A bar over the ``total`` resources apply takes up, on a terminal (stderr), for
    enough of them and never with --quiet; otherwise apply's lines print as they are."""
    if quiet or total < _PROGRESS_FROM_RESOURCES or not sys.stderr.isatty():
        yield _ResourceBar()
        return
    counter = _ResourceBar()
    with click.progressbar(length=total, label="applying", file=counter) as bar:
        counter.bar = bar
        yield counter


def _destroy_fleet_command(
    paths,
    uri,
    scope_option,
    targets,
    flags,
    inventory_path,
    reach,
    yes: bool,
    shutdown_timeout: float,
) -> None:
    from vmspec.compare.model import Options
    from vmspec.host.fleet import plan_fleet_destroy
    from vmspec.host.fleet_apply import apply_fleet
    from vmspec.host.graph import TargetError, parse_target
    from vmspec.host.report import fleet_lines

    inventory, documents, scope = _fleet_inputs(paths, uri, scope_option, inventory_path)
    try:
        parsed = tuple(parse_target(target) for target in targets)
    except TargetError as error:
        raise click.UsageError(str(error)) from None
    options = Options(**flags, scope=scope, targets=parsed)
    fleet = plan_fleet_destroy(
        inventory,
        documents,
        options,
        reach,
    )
    try:
        _echo_plan(fleet_lines(fleet))
        if not fleet.has_changes:
            click.echo("Nothing to destroy.")
            failures = int(fleet.failed)
        else:
            if not yes:
                if not sys.stdin.isatty():
                    _fail([], "stdin is not a terminal: add --yes to destroy", EXIT_PROBLEMS)
                if not click.confirm("Destroy these?", default=False):
                    _fail([], "nothing destroyed", EXIT_PROBLEMS)
            click.echo("Applying:")
            failures = apply_fleet(
                fleet,
                options,
                click.echo,
                allow_move=False,
                parallel=reach.parallel,
                shutdown_timeout=shutdown_timeout,
            )
    finally:
        fleet.close()
    if failures:
        click.echo(f"vmspec: {_count(failures, 'thing')} not converged", err=True)
        sys.exit(EXIT_PROBLEMS)
