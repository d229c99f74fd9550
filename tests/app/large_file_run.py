"""Drive the dashboard (AppTest) through a large file and report the process's peak memory.

Run in its own process by test_large_file.py so that peak RSS is this run's alone:
    python tests/app/large_file_run.py FILE   -> prints one JSON line
The file is opened from the server data folder (RFM_DATA_DIR), as a user would for a file over
the upload limit, then every page is visited.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)

from streamlit.testing.v1 import AppTest  # noqa: E402

from ui import session  # noqa: E402


def main(path: str) -> None:
    os.environ["RFM_DATA_DIR"] = str(Path(path).parent)
    started = time.perf_counter()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300)
    at.run()
    at.switch_page("pages/data.py").run()
    next(s for s in at.selectbox if s.label == "File").set_value(Path(path).name)
    at.button(key="FormSubmitter:server_file-Open").click().run()
    pages = {}
    for page in ("data", "rfm", "clusters", "segments", "lookup"):
        at.switch_page(f"pages/{page}.py").run()
        pages[page] = {
            "exceptions": [e.value for e in at.exception],
            "errors": [e.value for e in at.error],
            "charts": len(at.get("plotly_chart")),
        }
    at.switch_page("pages/rfm.py").run()
    customers = next(m.value for m in at.metric if m.label == "Customers")
    print(
        json.dumps(
            {
                "source": at.session_state[session.SOURCE].name,
                "customers": customers,
                "pages": pages,
                "seconds": round(time.perf_counter() - started, 1),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])
