# Benign (near miss): the visitor pattern dispatches with getattr(self, 'visit_' + kind) on its own methods.
import ast


class Counter(ast.NodeVisitor):
    def __init__(self):
        self.counts = {}

    def generic_visit(self, node):
        method = getattr(self, "visit_" + type(node).__name__, None)
        self.counts[type(node).__name__] = self.counts.get(type(node).__name__, 0) + 1
        if method is None:
            super().generic_visit(node)
        else:
            method(node)

    def visit_FunctionDef(self, node):
        print("function", node.name)
        super().generic_visit(node)


Counter().visit(ast.parse("def f(x):\n    return x + 1\n"))
