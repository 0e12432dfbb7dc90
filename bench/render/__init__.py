"""Rows to text: terminal tables, the HTML report and its figures."""
