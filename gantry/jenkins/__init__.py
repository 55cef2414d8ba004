"""`gantry jenkins`: drive the Jenkins controller (python-jenkins) for one-click deploys and approvals.

Modules: credentials (where the API token comes from), api (the REST calls python-jenkins lacks),
follow (trigger a build and follow it to its result), sync (apply jenkins/jobs with Jenkins Job Builder),
cli (the click group the lead registers as `gantry jenkins`).
"""
