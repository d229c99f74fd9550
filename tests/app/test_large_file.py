"""A 1M-line file through the whole dashboard (AppTest) stays under 2 GiB of memory.

The run happens in a fresh subprocess (large_file_run.py) so its peak RSS is its own; the
figure is printed (pytest -s shows it) and asserted.
"""

import json
import subprocess
import sys
from pathlib import Path

from core.cleaning import CleaningConfig
from core.columns import resolve_mapping
from core.io import read_transactions
from core.rfm import Source
from core.synth import write_synthetic

HERE = Path(__file__).resolve().parent
LIMIT_MIB = 2048


def test_million_line_file_through_every_page_under_2_gib(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = data / "transactions_1m.parquet"
    assert write_synthetic(path, lines=1_000_000, customers=60_000, seed=7) == 1_000_000
    run = subprocess.run(
        [sys.executable, str(HERE / "large_file_run.py"), str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        env={"RFM_MODEL_DIR": str(tmp_path / "models"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    print(
        f"\n1M lines through the dashboard: {report['seconds']} s, "
        f"peak RSS {report['peak_rss_mib']} MiB, {report['customers']} customers"
    )

    dataset = read_transactions(path)
    expected = Source(dataset, resolve_mapping(dataset.table), CleaningConfig()).rfm()
    assert report["source"] == path.name
    assert report["customers"] == f"{len(expected.rfm):,}"
    for page, seen in report["pages"].items():
        assert seen["exceptions"] == [] and seen["errors"] == [], (page, seen)
    assert report["pages"]["rfm"]["charts"] >= 2
    assert report["pages"]["clusters"]["charts"] >= 2
    assert report["peak_rss_mib"] < LIMIT_MIB
