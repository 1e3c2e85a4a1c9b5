/** The admin console's overview page (GET /admin): how many applications and users there are. */
import type { RouteHandlerMethod } from 'fastify';
import type { ServerContext } from '../../../context.js';
import { overviewPage } from '../../../ui/admin/pages.js';
import { sendHtml } from '../../respond.js';
import { page } from './page.js';

/** GET /admin. */
export function getHome(ctx: ServerContext): RouteHandlerMethod {
  return page(ctx, 'home', async (_req, reply, a) => {
    const [clients, users] = await Promise.all([ctx.storage.clients.list(), ctx.storage.users.list()]);
    return sendHtml(
      reply,
      200,
      overviewPage({ chrome: a.chrome, clients: clients.length, users: users.length }),
    );
  });
}
