/**
 * glue-pubsub/yjs: keeps a Yjs document in sync over glue (see src/yjs/). `yjs` and `y-protocols` are optional peer
 * dependencies: install them to use this entry point.
 */
export {}
