"""UDIL 3.3 (PITC, September 2025) data sets: the 2019 definitions with 3.3's changes.

``DATASETS_3_3`` maps a data set code to its 3.3 definition where 3.3 differs from 2019
(``Profile.derive`` keeps the 2019 definition of every code not named here).
"""

from __future__ import annotations

from .datasets import DataSet

DATASETS_3_3: dict[str, DataSet] = {}
