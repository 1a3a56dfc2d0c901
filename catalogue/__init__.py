"""The process catalogue: municipalities, processes, adoptions and their history.

This package knows nothing about HTTP; the service layer calls it.
"""
