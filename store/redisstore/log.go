package redisstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// SetLogger sends what go-redis itself logs (a failed dial, a dropped
// pub/sub connection) to l, in l's format, instead of its own plain lines
// on stderr. They go at level Debug: signoff reports what matters of a
// Redis failure itself, once (the error of a store call, the cause of a
// 503, /readyz), and go-redis repeats each failure for every retry.
// go-redis has one logger per process, so this is process-wide: a program
// calls it once, as signoff serve does.
func SetLogger(l *slog.Logger) {
	redis.SetLogger(redisLogger{l})
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "), "lib", "go-redis")
}
