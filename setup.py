"""Only the package list lives here: pyproject's ``packages.find`` cannot add the two mapped data packages.

``search_spaces/`` and ``latency_tables/`` stay at the top of the source tree and are mapped to
``nas/_data/...`` in the wheel (``package-dir`` and ``package-data`` in pyproject.toml); nas.resources reads them.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["nas", "nas.*"]), "nas._data.search_spaces", "nas._data.latency_tables"])
