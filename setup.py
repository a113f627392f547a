"""Install lpot_ux: the benchmark server, its worker and its web page."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def read_requirements() -> list[str]:
    """Return the requirement lines of requirements.txt."""
    lines = (HERE / "requirements.txt").read_text().splitlines()

    return [line for line in lines if line.strip() and not line.startswith("#")]


setup(
    name="lpot_ux",
    version="0.1.0",
    description="Benchmark an optimized deep-learning model against its original.",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # static/ and templates/ live at the repository root; in a wheel they are
    # shipped inside the package so that an installed server still finds them.
    packages=find_packages(include=["lpot_ux", "lpot_ux.*"])
    + ["lpot_ux.static", "lpot_ux.templates"],
    package_dir={"lpot_ux.static": "static", "lpot_ux.templates": "templates"},
    package_data={
        "lpot_ux.static": ["**/*"],
        "lpot_ux.templates": ["**/*"],
        "lpot_ux.components.store": ["schema.sql"],
    },
    include_package_data=True,
    install_requires=read_requirements(),
    entry_points={"console_scripts": ["lpot_ux = lpot_ux.cli:main"]},
)
