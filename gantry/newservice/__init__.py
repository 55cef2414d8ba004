"""`gantry new-service`: a new service's folder with a contract that follows the repository's conventions."""
