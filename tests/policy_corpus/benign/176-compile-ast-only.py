# Benign (near miss): parses Python source with ast to count functions; the code is never executed.
import ast

source = open("src/app.py").read()
tree = ast.parse(source)
functions = [node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
print(len(functions), "functions:", ", ".join(sorted(functions)))
