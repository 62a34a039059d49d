import { NavLink, Outlet, Route, Routes } from 'react-router';
import { ApiStatusBanner } from '../components/ApiStatusBanner';
import { ApiTokenControl } from '../components/ApiTokenControl';
import { EnvironmentsPage } from '../pages/EnvironmentsPage';
import { NotFoundPage } from '../pages/NotFoundPage';
import { RunDetailsPage } from '../pages/RunDetailsPage';
import { RunsPage } from '../pages/RunsPage';

function Layout() {
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__inner">
          <NavLink to="/" className="brand" aria-label="Baton home">
            <span className="brand__mark" aria-hidden="true" />
            <span className="brand__name">Baton</span>
          </NavLink>
          <nav aria-label="Main" className="mainnav">
            <NavLink to="/" end>
              Runs
            </NavLink>
            <NavLink to="/environments">Environments</NavLink>
          </nav>
          <ApiTokenControl />
        </div>
      </header>
      <ApiStatusBanner />
      <main id="main" className="main" tabIndex={-1}>
        <Outlet />
      </main>
    </>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route index element={<RunsPage />} />
        <Route path="runs/:id" element={<RunDetailsPage />} />
        <Route path="environments" element={<EnvironmentsPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
