# Benign: configures logging to a file in the workspace.
import logging

logging.basicConfig(
    filename="app.log",
    level=logging.INFO,
    format="%(asctime)s %(levelname)s %(name)s: %(message)s",
)
log = logging.getLogger("etl")
log.info("starting")
log.warning("3 rows skipped")
log.info("finished")
