# Benign: runs the test suite with pytest.
python -m pytest -q tests/
