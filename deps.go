//go:build tools

package main

import (
	_ "go.temporal.io/server/temporal"
	_ "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	_ "go.temporal.io/server/schema/sqlite"
	_ "go.temporal.io/server/temporaltest"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/worker"
	_ "go.temporal.io/sdk/testsuite"
	_ "github.com/labstack/echo/v4"
	_ "github.com/casbin/casbin/v2"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/pressly/goose/v3"
	_ "github.com/expr-lang/expr"
	_ "modernc.org/sqlite"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "golang.org/x/crypto/argon2"
	_ "golang.org/x/text/encoding/charmap"
	_ "github.com/xuri/excelize/v2"
	_ "github.com/coreos/go-oidc/v3/oidc"
	_ "github.com/chromedp/chromedp"
	_ "golang.org/x/oauth2"
	_ "github.com/stretchr/testify/require"
	_ "github.com/google/uuid"
)
