# Benign: clones a repository into the workspace.
git clone --depth 1 https://github.com/example/project.git project
ls project
