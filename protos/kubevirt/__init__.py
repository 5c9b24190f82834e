"""The kubevirt.io API model (generated from the .proto files beside this one)."""
