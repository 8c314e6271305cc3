"""A visitor's data on request: export it, erase it (docs/operations.md, "Privacy").

`addresses` checks and hashes the address asked for, `export` gathers the visitor's data,
`erasure` removes it and writes the audit row. The management commands `export_visitor`
and `erase_visitor` and the support request admin's actions call them.
"""
