"""Which logical CPUs share a physical core, and a layout of instances that avoids it."""

from dataclasses import dataclass
from pathlib import Path

SYSFS_CPUS = Path("/sys/devices/system/cpu")


@dataclass(frozen=True)
class CoreLayout:
    """The logical CPUs of each instance, and what is wrong with the layout."""

    core_sets: tuple[tuple[int, ...], ...]
    warnings: tuple[str, ...]


def physical_core_of(cpu: int, root: Path | None = None) -> tuple[int, int]:
    """Return (package, core) of a logical CPU; the CPU itself when sysfs says nothing."""
    topology = (root or SYSFS_CPUS) / f"cpu{cpu}" / "topology"
    try:
        package = int((topology / "physical_package_id").read_text())
        core = int((topology / "core_id").read_text())
    except (OSError, ValueError):
        return (0, cpu)

    return (package, core)


def order_for_instances(cpus: list[int], root: Path | None = None) -> list[int]:
    """Return the CPUs with one per physical core first, then their hyperthread siblings."""
    seen: dict[tuple[int, int], int] = {}
    ranked = []
    for cpu in sorted(cpus):
        core = physical_core_of(cpu, root)
        sibling_rank = seen.get(core, 0)
        seen[core] = sibling_rank + 1
        ranked.append((sibling_rank, core, cpu))

    return [cpu for _, _, cpu in sorted(ranked)]


def plan_layout(
    cpus: list[int], instances: int, cores_per_instance: int, root: Path | None = None
) -> CoreLayout:
    """Give each instance its own CPUs, whole physical cores first, and say what is shared."""
    ordered = order_for_instances(cpus, root)
    core_sets = tuple(
        tuple(sorted(ordered[i * cores_per_instance : (i + 1) * cores_per_instance]))
        for i in range(instances)
    )

    return CoreLayout(core_sets, tuple(check_layout(core_sets, root)))


def check_layout(core_sets: tuple[tuple[int, ...], ...], root: Path | None = None) -> list[str]:
    """Return the problems of a layout: shared CPUs, or physical cores shared by instances."""
    warnings = []
    owner: dict[tuple[int, int], int] = {}
    cpu_owner: dict[int, int] = {}
    for number, cpus in enumerate(core_sets):
        for cpu in cpus:
            if cpu in cpu_owner:
                warnings.append(f"instances {cpu_owner[cpu]} and {number} both run on CPU {cpu}")
            cpu_owner[cpu] = number
            core = physical_core_of(cpu, root)
            if owner.setdefault(core, number) != number:
                warnings.append(
                    f"instances {owner[core]} and {number} share physical core {core[1]} "
                    f"(package {core[0]}) through hyperthread siblings, so each slows the other"
                )

    return list(dict.fromkeys(warnings))
