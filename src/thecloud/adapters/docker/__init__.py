"""Compute on a Docker Engine: the ContainerRuntime adapter and the offline image builder."""

from thecloud.adapters.docker.runtime import DockerRuntime

__all__ = ["DockerRuntime"]
