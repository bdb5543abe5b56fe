package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/civicflow/civicflow/internal/apigw"
	"github.com/civicflow/civicflow/internal/service"
	"github.com/civicflow/civicflow/internal/store"
)

// The public API's gateway (internal/apigw): the JSON API of keys, plans,
// consumers and usage for staff, the reuser's own usage on the public API,
// and meter(), the middleware any public route or group uses.

var apigwRoutes = []RoutePerm{
	{Method: http.MethodGet, Path: "/api/v1/apikeys", Obj: "apikeys", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/apikeys", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPost, Path: "/api/v1/apikeys/:id/rotate", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPost, Path: "/api/v1/apikeys/:id/revoke", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPut, Path: "/api/v1/apikeys/:id/expiry", Obj: "apikeys", Act: "write"},
	{Method: http.MethodGet, Path: "/api/v1/apiplans", Obj: "apikeys", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/apiplans", Obj: "apikeys", Act: "write"},
	{Method: http.MethodPut, Path: "/api/v1/apiplans/:id", Obj: "apikeys", Act: "write"},
	{Method: http.MethodDelete, Path: "/api/v1/apiplans/:id", Obj: "apikeys", Act: "write"},
	{Method: http.MethodGet, Path: "/api/v1/apiconsumers", Obj: "apikeys", Act: "read"},
	{Method: http.MethodPost, Path: "/api/v1/apiconsumers", Obj: "apikeys", Act: "write"},
	{Method: http.MethodGet, Path: "/api/v1/apiusage", Obj: "apikeys", Act: "read"},
	{Method: http.MethodGet, Path: "/api/v1/apiusage/export.csv", Obj: "apikeys", Act: "write"},
	{Method: http.MethodGet, Path: explorePrefix + "/usage", Public: true},
}

func (s *Server) registerAPIGateway(api *echo.Group) {
	api.GET("/apikeys", s.listAPIKeys)
	api.POST("/apikeys", s.createAPIKey)
	api.POST("/apikeys/:id/rotate", s.rotateAPIKey)
	api.POST("/apikeys/:id/revoke", s.revokeAPIKey)
	api.PUT("/apikeys/:id/expiry", s.setAPIKeyExpiry)
	api.GET("/apiplans", s.listAPIPlans)
	api.POST("/apiplans", s.createAPIPlan)
	api.PUT("/apiplans/:id", s.updateAPIPlan)
	api.DELETE("/apiplans/:id", s.deleteAPIPlan)
	api.GET("/apiconsumers", s.listAPIConsumers)
	api.POST("/apiconsumers", s.createAPIConsumer)
	api.GET("/apiusage", s.apiUsageByDay)
	api.GET("/apiusage/export.csv", s.exportAPIUsage)
}

// meter is the gateway's middleware (keys, limits, headers, usage log) for
// any public route or group; a no-op without a store.
func (s *Server) meter() echo.MiddlewareFunc {
	if s.gw == nil {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return s.gw.Middleware()
}

func apiKeyID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, Errorf(http.StatusNotFound, "no API key %q", c.Param("id"))
	}
	return id, nil
}

// keyAnswer is a key with, once, its secret.
type keyAnswer struct {
	store.APIKey
	Key string `json:"key"`
}

func (s *Server) listAPIKeys(c echo.Context) error {
	var consumer int64
	if v := c.QueryParam("consumer"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return Errorf(http.StatusBadRequest, "consumer must be a positive integer")
		}
		consumer = n
	}
	ks, err := s.svc.ListAPIKeys(c.Request().Context(), caller(c), consumer)
	if err != nil {
		return err
	}
	if ks == nil {
		ks = []store.APIKey{}
	}
	return c.JSON(http.StatusOK, map[string]any{"keys": ks})
}

func (s *Server) createAPIKey(c echo.Context) error {
	var in service.APIKeyInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	k, key, err := s.svc.CreateAPIKey(c.Request().Context(), caller(c), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, keyAnswer{k, key})
}

func (s *Server) rotateAPIKey(c echo.Context) error {
	id, err := apiKeyID(c)
	if err != nil {
		return err
	}
	k, key, err := s.svc.RotateAPIKey(c.Request().Context(), caller(c), id)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, keyAnswer{k, key})
}

func (s *Server) revokeAPIKey(c echo.Context) error {
	id, err := apiKeyID(c)
	if err != nil {
		return err
	}
	k, err := s.svc.RevokeAPIKey(c.Request().Context(), caller(c), id)
	if err != nil {
		return err
	}
	if s.gw != nil {
		s.gw.Forget() // this process at once; the others within a second
	}
	return c.JSON(http.StatusOK, k)
}

func (s *Server) setAPIKeyExpiry(c echo.Context) error {
	id, err := apiKeyID(c)
	if err != nil {
		return err
	}
	var in struct {
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	k, err := s.svc.SetAPIKeyExpiry(c.Request().Context(), caller(c), id, in.ExpiresAt)
	if err != nil {
		return err
	}
	if s.gw != nil {
		s.gw.Forget()
	}
	return c.JSON(http.StatusOK, k)
}

func (s *Server) listAPIPlans(c echo.Context) error {
	ps, err := s.svc.ListAPIPlans(c.Request().Context(), caller(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"plans": ps})
}

func (s *Server) createAPIPlan(c echo.Context) error {
	var in service.APIPlanInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, err := s.svc.CreateAPIPlan(c.Request().Context(), caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

func (s *Server) updateAPIPlan(c echo.Context) error {
	var in service.APIPlanInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p, err := s.svc.UpdateAPIPlan(c.Request().Context(), caller(c), c.Param("id"), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}

func (s *Server) deleteAPIPlan(c echo.Context) error {
	if err := s.svc.DeleteAPIPlan(c.Request().Context(), caller(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listAPIConsumers(c echo.Context) error {
	cs, err := s.svc.ListAPIConsumers(c.Request().Context(), caller(c))
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []store.APIConsumer{}
	}
	return c.JSON(http.StatusOK, map[string]any{"consumers": cs})
}

func (s *Server) createAPIConsumer(c echo.Context) error {
	var in service.APIConsumerInput
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	cons, err := s.svc.CreateAPIConsumer(c.Request().Context(), caller(c), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, cons)
}

// usageQuery reads consumer, dataset, from and to (YYYY-MM-DD, to
// inclusive).
func usageQuery(c echo.Context) (service.UsageQuery, error) {
	var q service.UsageQuery
	if v := c.QueryParam("consumer"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return q, Errorf(http.StatusBadRequest, "consumer must be a positive integer")
		}
		q.Consumer = n
	}
	q.Dataset = c.QueryParam("dataset")
	for _, p := range []struct {
		name string
		dst  *time.Time
		add  int
	}{{"from", &q.From, 0}, {"to", &q.To, 1}} {
		if v := c.QueryParam(p.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return q, Errorf(http.StatusBadRequest, "%s must be a date YYYY-MM-DD", p.name)
			}
			*p.dst = t.AddDate(0, 0, p.add)
		}
	}
	return q, nil
}

func (s *Server) apiUsageByDay(c echo.Context) error {
	q, err := usageQuery(c)
	if err != nil {
		return err
	}
	days, err := s.svc.APIUsageByDay(c.Request().Context(), caller(c), q)
	if err != nil {
		return err
	}
	if days == nil {
		days = []store.UsageDay{}
	}
	return c.JSON(http.StatusOK, map[string]any{"usage": days})
}

func (s *Server) exportAPIUsage(c echo.Context) error {
	q, err := usageQuery(c)
	if err != nil {
		return err
	}
	// Authorize before the first byte: an error after it cannot be a status.
	if _, err := s.svc.ListAPIPlans(c.Request().Context(), caller(c)); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="api-usage.csv"`)
	if err := s.svc.ExportAPIUsageCSV(c.Request().Context(), caller(c), q, c.Response()); err != nil {
		if !c.Response().Committed {
			h.Del(echo.HeaderContentDisposition)
			return err
		}
		s.log.Error("usage export interrupted", "err", err)
	}
	return nil
}

// exploreUsage is the reuser's own usage on the public API, per day and
// dataset (?days=30 by default, up to 366): it needs a key.
func (s *Server) exploreUsage(c echo.Context) error {
	k := apigw.CallerFrom(c).Key
	if k == nil {
		c.Response().Header().Set("WWW-Authenticate", `Apikey realm="civicflow"`)
		return c.JSON(http.StatusUnauthorized, exploreError{"InvalidAPIKeyError", "send your API key (Authorization: Apikey KEY or ?apikey=KEY) to see your usage"})
	}
	days := 30
	if v := c.QueryParam("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s.exploreFail(c, &service.ParamError{Msg: "days must be an integer between 1 and 366"})
		}
		days = n
	}
	usage, err := s.svc.OwnAPIUsage(c.Request().Context(), *k, days)
	if err != nil {
		return s.exploreFail(c, err)
	}
	if usage == nil {
		usage = []store.UsageDay{}
	}
	var total int64
	for _, u := range usage {
		total += u.Calls
	}
	return c.JSON(http.StatusOK, map[string]any{"plan": apigw.CallerFrom(c).Plan.ID, "days": days, "total_calls": total, "usage": usage})
}
