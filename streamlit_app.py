"""Router: page config, the bundled sample on first run, navigation and the shared sidebar."""

import streamlit as st

from core.errors import SegmentationError
from ui import files, render

st.set_page_config(page_title="RFM customer segmentation", page_icon=":material/groups:", layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", url_path="data", default=True),
    st.Page("pages/rfm.py", title="RFM", url_path="rfm"),
    st.Page("pages/clusters.py", title="Clusters", url_path="clusters"),
    st.Page("pages/segments.py", title="Segments", url_path="segments"),
    st.Page("pages/movement.py", title="Movement", url_path="movement"),
    st.Page("pages/value.py", title="Value", url_path="value"),
    st.Page("pages/lookup.py", title="Customer lookup", url_path="lookup"),
]

page = st.navigation(PAGES)
try:
    with st.spinner("Loading the sample data..."):
        files.ensure_source()
except SegmentationError as exc:
    st.error(render.escape_markdown(str(exc)))
    st.stop()
render.sidebar_summary()
page.run()
