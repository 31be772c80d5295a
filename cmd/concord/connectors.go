package main

// Connector kinds that register themselves and that no internal package
// imports yet; the binary links them here.
import (
	_ "github.com/concordsync/concord/internal/connector/exactonline"
)
