function h = fspecial(type, siz, sigma)
  % Stands in for MATLAB Image Processing Toolbox fspecial, 'gaussian' only, with
  % MATLAB's formula: unit-sum Gaussian on a grid centred at (siz-1)/2, values
  % below eps*max set to 0.
  if ~strcmpi(type, 'gaussian')
    error('fspecial shim: only gaussian is implemented');
  end
  half = (siz - 1) / 2;
  [x, y] = meshgrid(-half(2):half(2), -half(1):half(1));
  h = exp(-(x .* x + y .* y) / (2 * sigma * sigma));
  h(h < eps * max(h(:))) = 0;
  if sum(h(:)) ~= 0
    h = h / sum(h(:));
  end
end
