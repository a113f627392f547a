"""CPU topology and the layout of instances, on a fake sysfs."""

from pathlib import Path

import pytest

from lpot_ux.components.system.topology import check_layout, order_for_instances, plan_layout


@pytest.fixture
def smt_sysfs(tmp_path: Path) -> Path:
    """Four physical cores with two threads each: CPU n and n+4 are siblings."""
    for cpu in range(8):
        topology = tmp_path / f"cpu{cpu}" / "topology"
        topology.mkdir(parents=True)
        (topology / "physical_package_id").write_text("0\n")
        (topology / "core_id").write_text(f"{cpu % 4}\n")
    return tmp_path


def test_physical_cores_come_before_siblings(smt_sysfs):
    assert order_for_instances([0, 1, 4, 5, 2, 6], smt_sysfs) == [0, 1, 2, 4, 5, 6]


def test_layout_uses_whole_cores_first(smt_sysfs):
    layout = plan_layout(list(range(8)), 2, 2, smt_sysfs)

    assert layout.core_sets == ((0, 1), (2, 3))
    assert layout.warnings == ()


def test_layout_that_needs_siblings_says_so(smt_sysfs):
    layout = plan_layout(list(range(8)), 3, 2, smt_sysfs)

    assert layout.core_sets == ((0, 1), (2, 3), (4, 5))
    assert layout.warnings == (
        "instances 0 and 2 share physical core 0 (package 0) through hyperthread siblings, "
        "so each slows the other",
        "instances 0 and 2 share physical core 1 (package 0) through hyperthread siblings, "
        "so each slows the other",
    )


def test_overlapping_core_sets_are_named(smt_sysfs):
    assert check_layout(((0, 1), (1, 2)), smt_sysfs)[0] == "instances 0 and 1 both run on CPU 1"


def test_no_sysfs_means_every_cpu_is_a_core(tmp_path):
    layout = plan_layout([3, 1, 2], 3, 1, tmp_path / "missing")

    assert layout.core_sets == ((1,), (2,), (3,))
    assert layout.warnings == ()
