"""The load and fault test of the local cluster (`make loadtest`, `make loadtest-ci`).

Not an app package: it talks to the cluster over HTTP only (Locust users and the loopback
provider), and reads the cluster's database only to check the outcome afterwards.
"""
