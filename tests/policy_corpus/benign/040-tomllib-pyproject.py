# Benign: reads the project's pyproject.toml and prints its dependencies.
import tomllib

with open("pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
print(project["name"], project.get("version"))
for dep in project.get("dependencies", []):
    print(" -", dep)
