"""hakobu: provision a production web stack on AWS, ship an app onto it and operate it."""

__version__ = "0.1.0"
