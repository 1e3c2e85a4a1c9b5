/** The admin console's overview page (GET /admin): how many applications, APIs and users there are. */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { overviewPage } from '../../../ui/admin/pages.js';
import { sendHtml } from '../../respond.js';
import { page } from './page.js';

/** GET /admin. */
export function getHome(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'home', async (_req, reply, a) => {
    const [clients, apis, users] = await Promise.all([
      ctx.storage.clients.list(),
      ctx.apis.list(),
      ctx.storage.users.list(),
    ]);
    return sendHtml(
      reply,
      200,
      overviewPage({ chrome: a.chrome, clients: clients.length, apis: apis.length, users: users.length }),
    );
  });
}
