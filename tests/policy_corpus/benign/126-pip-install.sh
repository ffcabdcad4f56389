# Benign: installs Python packages for the project.
pip install requests
pip install 'pandas>=2' numpy
