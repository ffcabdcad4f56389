# Benign: writes JSON results under /workspace/results.
import json
from pathlib import Path

results = Path("/workspace/results")
results.mkdir(parents=True, exist_ok=True)
(results / "run-1.json").write_text(json.dumps({"accuracy": 0.93, "loss": 0.21}, indent=2))
print(sorted(p.name for p in results.iterdir()))
