# Benign: creates a virtual environment in the workspace and installs the requirements.
python3 -m venv .venv
. .venv/bin/activate
pip install -r requirements.txt
