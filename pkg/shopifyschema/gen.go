package shopifyschema

//go:generate go run ./cmd/shopifyschema sdl -version 2026-10 -o admin_2026-10.graphql
