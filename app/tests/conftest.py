import sys
from pathlib import Path

# The service's code lives in app/ (it is the image's /app); make `import cart` work for its unit tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
