package sqs

import (
	"slices"
	"time"
)

func sortStrings(s []string) { slices.Sort(s) }

func secondsDuration(n int) time.Duration { return time.Duration(n) * time.Second }
