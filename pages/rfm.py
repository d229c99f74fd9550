"""RFM: headline figures, distributions of R, F, M and the customer table."""
import streamlit as st

from core import charts
from core.export import to_csv_bytes
from ui import render

st.title("RFM")
loaded = render.loaded_or_stop()
rfm, result = loaded.rfm, loaded.result
st.write(f"Recency (days since the last purchase, as of {result.as_of:%Y-%m-%d %H:%M}), "
         "Frequency (distinct invoices) and Monetary (total spend) per customer.")

c = st.columns(5)
c[0].metric("Customers", f"{len(rfm):,}")
c[1].metric("Revenue", f"{rfm['monetary'].sum():,.2f}")
c[2].metric("Median recency", f"{rfm['recency'].median():,.0f} days")
c[3].metric("Median frequency", f"{rfm['frequency'].median():,.0f}")
c[4].metric("Median monetary", f"{rfm['monetary'].median():,.2f}")

log = st.toggle("Log scale (log10(1 + value)): long tails become readable", value=False, key="rfm_log")
points = render.sampled(rfm)
render.plot(charts.rfm_histograms(points, log=log), key="rfm_hist")
render.plot(charts.rfm_boxes(points, log=log), key="rfm_box")

st.subheader("Customers")
st.caption("Click a column header to sort.")
st.dataframe(rfm, hide_index=True, width="stretch", height=420,
             column_config={"monetary": st.column_config.NumberColumn(format="%.2f")})
st.download_button("Download RFM table (CSV)", data=lambda: to_csv_bytes(rfm), file_name="rfm.csv",
                   mime="text/csv", on_click="ignore", icon=":material/download:")
