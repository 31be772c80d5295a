package main

// The WebCRM connector registers the kind "webcrm" when linked in.
import _ "github.com/concordsync/concord/internal/connector/webcrm"
