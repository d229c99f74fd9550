"""Write synthetic transactions as an .xlsx laid out like the real Online Retail export.

    python bench/make_xlsx.py SOURCE.parquet OUT.xlsx

One sheet; header Invoice, StockCode, Description, Quantity, InvoiceDate, Price, Customer ID,
Country. As in the real file, an invoice or stock code that is all digits is a number cell
(536365, 22633) and the others text (C536379, 85123A); dates are date cells; a missing
customer is an empty cell. xlsxwriter's constant_memory mode writes row by row, so memory
stays flat; the file appears only when complete.
"""

from __future__ import annotations

import os
import sys

import pyarrow.parquet as pq
import xlsxwriter

HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
EXCEL_MAX_ROWS = 1_048_576


def write_xlsx(source: str, target: str) -> int:
    table = pq.ParquetFile(source)
    if table.metadata.num_rows + 1 > EXCEL_MAX_ROWS:
        raise SystemExit(f"{source}: {table.metadata.num_rows:,} lines do not fit one Excel sheet")
    tmp = target + ".part"
    book = xlsxwriter.Workbook(tmp, {"constant_memory": True})
    sheet = book.add_worksheet("Online Retail")
    when = book.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    sheet.write_row(0, 0, HEADER)
    row = 0
    for batch in table.iter_batches(batch_size=65_536, columns=HEADER):
        columns = batch.to_pydict()
        for i in range(batch.num_rows):
            row += 1
            for c, name in enumerate(HEADER):
                value = columns[name][i]
                if value is None:
                    continue
                if name == "InvoiceDate":
                    sheet.write_datetime(row, c, value, when)
                elif isinstance(value, str):
                    if name in ("Invoice", "StockCode") and value.isdigit():
                        sheet.write_number(row, c, int(value))
                    else:
                        sheet.write_string(row, c, value)
                else:
                    sheet.write_number(row, c, value)
    book.close()
    os.replace(tmp, target)
    return row


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    print(f"wrote {write_xlsx(sys.argv[1], sys.argv[2]):,} lines to {sys.argv[2]}")
