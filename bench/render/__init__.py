"""Rows to text: terminal tables, the HTML report and its figures."""

# what every HTML page the package writes may load: nothing from anywhere, inline styles, data: images only
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
