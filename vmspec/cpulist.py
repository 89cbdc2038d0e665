"""CPU lists as libvirt writes them (``0-3,^2,8``): a guest's vCPUs in a NUMA cell, the
host CPUs a guest may run on, the host NUMA nodes its memory may come from."""

from __future__ import annotations

# libvirt's CPU masks hold CPUs 0 to 8191 (VIR_DOMAIN_CPUMASK_LEN).
MAX_CPU = 8191

PATTERN = r"^([0-9]{1,4}(-[0-9]{1,4})?|\^[0-9]{1,4})(,([0-9]{1,4}(-[0-9]{1,4})?|\^[0-9]{1,4}))*$"


def parse_cpu_list(text: str, what: str) -> tuple[frozenset[int], list[str]]:
    """The numbers ``text`` names (``what`` they are: host CPUs, vCPUs, host nodes), and what is wrong with it (a number beyond libvirt's
    masks, a range that goes downwards); ``text`` matches PATTERN."""
    chosen: set[int] = set()
    problems = []
    for part in text.split(","):
        numbers = [int(number) for number in part.lstrip("^").split("-") if number]
        if any(number > MAX_CPU for number in numbers):
            problems.append(f"{part}: libvirt knows {what} 0 to {MAX_CPU}")
        elif len(numbers) == 2 and numbers[0] > numbers[1]:
            problems.append(f"{part}: a range goes upwards (write {numbers[1]}-{numbers[0]})")
        elif part.startswith("^"):
            chosen -= set(numbers)
        else:
            chosen |= set(range(numbers[0], numbers[-1] + 1))
    return frozenset(chosen), problems


def host_list_problems(text: str, what: str, left: str) -> list[str]:
    """What is wrong with a list of host CPUs or nodes, an empty one included: libvirt
    refuses a mask with nothing in it ("Invalid value of 'cpuset'")."""
    numbers, problems = parse_cpu_list(text, what)
    if not problems and not numbers:
        problems.append(f"{text} leaves no {left}")
    return problems


def as_written(live: str | None, wanted: str | None) -> str | None:
    """``live`` in ``wanted``'s words where both name the same numbers: libvirt stores
    every CPU list in its own form (``0,1,^1,2`` as ``0,2``; seen with libvirt 9.0)."""
    if live is None or wanted is None or live == wanted:
        return live
    live_numbers, live_problems = parse_cpu_list(live, "CPUs")
    wanted_numbers, wanted_problems = parse_cpu_list(wanted, "CPUs")
    same = not live_problems and not wanted_problems and live_numbers == wanted_numbers
    return wanted if same else live
