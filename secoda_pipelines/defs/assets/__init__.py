"""The assets: catalog listings from Secoda, and the reports derived from them."""
